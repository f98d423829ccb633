"""The UI-free core of the chord vision studio.

Modules (each importable on its own; heavy libraries load lazily, inside the functions that need them):

- ``chords``     the chord vocabulary, parsing of dataset spellings, guitar voicings
- ``video``      probe clips, stream frames at a chosen rate, write clips
- ``hands``      MediaPipe hand landmarks and the choice of the fretting hand
- ``features``   landmark feature vectors for the chord models
- ``datasets``   ImageFolder trees of labeled frames, landmark extraction with an on-disk cache
- ``landmark_model``  SVM / random forest / MLP chord models on landmark features, saved with a card
- ``evaluation`` accuracy, coverage, F1 and confusion matrices
- ``timeline``   per-frame chords merged into segments; timeline JSON
- ``analyze``    a clip in, per-frame results and a timeline out
- ``synthetic``  the generator of the sample clips in ``sample_media/``

Neither this package nor ``labeling`` imports streamlit or gradio.
"""

__version__ = "0.1.0"
