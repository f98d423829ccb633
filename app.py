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
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the studio never waits on a hub it cannot reach
os.environ.setdefault("GLOG_minloglevel", "2")

import streamlit as st

from app_pages.common import fix_media_serving, sidebar

fix_media_serving()

st.set_page_config(page_title="Chord vision studio", page_icon=":guitar:", layout="wide")

# URL paths differ from the file names on purpose: with a app_pages/ folder present, Streamlit runs a
# process's first script run (and every AppTest run) through its old folder-based pages, which would run
# a page file whose name matches the URL on its own, without this sidebar. With distinct URLs that
# lookup finds nothing and falls back to this entry, which then picks the page.
PAGES = [
    st.Page("app_pages/analyze.py", title="Analyze", icon=":material/movie:", url_path="analyze-clip", default=True),
    st.Page("app_pages/explain.py", title="Explain", icon=":material/visibility:", url_path="explain-frame"),
    st.Page("app_pages/label.py", title="Label", icon=":material/label:", url_path="label-frames"),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/compare:", url_path="compare-models"),
    st.Page("app_pages/listen.py", title="Listen", icon=":material/music_note:", url_path="listen-chords"),
    st.Page("app_pages/models.py", title="Models", icon=":material/model_training:", url_path="model-cards"),
]

page = st.navigation(PAGES)
sidebar()
page.run()
