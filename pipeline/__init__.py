"""The UI-free core of the chord vision studio.

Modules (each importable on its own; heavy libraries load lazily, inside the functions that need them):

- ``chords``     the chord vocabulary, parsing of dataset spellings, guitar voicings
- ``video``      probe clips, stream frames at a chosen rate, write clips
- ``hands``      MediaPipe hand landmarks and the choice of the fretting hand
- ``features``   landmark feature vectors for the chord models
- ``datasets``   ImageFolder trees of labeled frames, landmark extraction with an on-disk cache
- ``landmark_model``  SVM / random forest / MLP chord models on landmark features, saved with a card
- ``registry``   model folders (and the default sample model) loaded once per process
- ``fusion``     several models' per-frame probabilities pooled into one prediction
- ``smoothing``  per-frame chords into a clean sequence (Viterbi; the seed's majority vote)
- ``evaluation`` accuracy, coverage, F1, confusion matrices; timeline scores against ground truth
- ``timeline``   per-frame chords merged into segments; timeline JSON
- ``analyze``    a clip in, per-frame results and a timeline out
- ``music``, ``synth``, ``mux``  the timeline as strummed guitar MIDI, audio, and a clip with that audio
- ``synthetic``  the generator of the sample clips in ``sample_media/``
- ``cli``        ``python -m pipeline``

Neither this package nor ``labeling`` imports streamlit or gradio.
"""

__version__ = "0.1.0"
