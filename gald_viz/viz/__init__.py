"""Pictures and tables for the app and for papers; no Streamlit here.

``overlays`` and ``features`` make RGB arrays, ``figures`` plotly figures, ``paper_figures`` matplotlib
figures in the GALD paper's layouts; ``affinity``, ``inspector``, ``compare`` and ``table_v`` are the
pages' compute paths (LDv2 window, Local distribution, Compare, Table V).
"""
