"""The label store, review queue and dataset import / export (see issue 5).

Imports run one way: ``labeling`` may use ``pipeline``; neither imports streamlit or gradio.
"""
