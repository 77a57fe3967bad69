"""Headless views of the app's pages: everything a page shows, built from its settings without Streamlit."""
