"""The UI-free core of the chord vision studio (neither it nor ``labeling`` imports streamlit or gradio).

- ``core/`` result types, protocols, enums, errors, config, chords; ``vision/`` video, hands, detection, drawing
- ``models/`` landmark and image chord models, cards, registry, detector training; ``timeline/`` fusion, analysis
- ``explain/`` occlusion and finger attribution; ``compare/`` model comparison; ``audio/`` music, synth, mux
- ``figures`` every plotly figure; ``text`` every sentence a user reads; ``space`` the Gradio Space's service
- ``cli`` ``python -m pipeline``; imports run upward only: core < vision < models < timeline < explain, compare, audio
"""

__version__ = "0.1.0"
