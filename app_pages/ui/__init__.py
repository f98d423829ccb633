"""What the studio's pages share: the sidebar, model pickers, caches, session state, messages.

Not pages: ``app.py`` lists its pages with ``st.navigation``, so Streamlit never runs these modules as pages.
"""
