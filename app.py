"""The chord vision studio: ``streamlit run app.py``.

The entry only: the pages (``st.navigation`` over ``app_pages/``) and the shared sidebar (models, data
directory, sampling rate). Each page reads its widgets, calls the pipeline and renders.
"""

import os
import sys
from pathlib import Path

# `streamlit run` puts this folder on the path, AppTest does not: app_pages/, pipeline/ and labeling/ import
# from here either way.
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("GLOG_minloglevel", "2")

import streamlit as st

from app_pages.ui.media import fix_media_serving
from app_pages.ui.sidebar import sidebar

fix_media_serving()

st.set_page_config(page_title="Chord vision studio", page_icon=":guitar:", layout="wide")

# Each page's URL path is its file's name (/analyze, /explain, ...).
PAGES = [
    st.Page("app_pages/analyze.py", title="Analyze", icon=":material/movie:", default=True),
    st.Page("app_pages/explain.py", title="Explain", icon=":material/visibility:"),
    st.Page("app_pages/label.py", title="Label", icon=":material/label:"),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/compare:"),
    st.Page("app_pages/live.py", title="Live", icon=":material/videocam:"),
    st.Page("app_pages/listen.py", title="Listen", icon=":material/music_note:"),
    st.Page("app_pages/models.py", title="Models", icon=":material/model_training:"),
    st.Page("app_pages/teach.py", title="Teach", icon=":material/school:"),
]

page = st.navigation(PAGES)
sidebar()
page.run()
