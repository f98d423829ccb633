"""The label store, review queue and dataset import / export (see issue 5).

Modules (callers import each name from the module that defines it):
    store      :class:`LabelStore`, put together from database (schema, migrations, transactions),
               frames, labels (history and undo), snapshots and jobs; records holds what it takes and returns.
    names      the names and dataset paths that become files (no leaving their folder).
    formats    ImageFolder / YOLO / COCO readers and safe zip extraction.
    ingest     add frames from a clip, an image folder or a dataset; an analysed frame with its corrected label.
    queue      :func:`review_queue`: disagreements and least sure frames first, near-duplicates skipped.
    export     a snapshot as ImageFolder (train / val / test by clip), YOLO fretboard data, or CSV.
    train      the landmark model from a snapshot in seconds; any kind as a background job.
    teach      a taught folder's frames as labeled groups; batches: a batch result folder's frames.
    personal   correct and retrain: Label's labels retrain a taught pair (landmarks now, the CNN as a job).
    sets       labeled sets to score and compare models on.
    cli        ``python -m labeling add|queue|label|undo|history|snapshot|export|train|jobs|stats``.

Imports run one way: ``labeling`` may use ``pipeline``; neither imports streamlit or gradio. Nothing is
imported here: ``labeling.train`` doubles as the background runner's ``__main__``.
"""
