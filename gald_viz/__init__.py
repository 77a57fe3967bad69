"""gald-viz: look inside GALD (Global Aggregation then Local Distribution) segmentation networks.

Li et al., "Global Aggregation then Local Distribution for Scene Parsing", IEEE TIP 2021.
The library holds models, feature hooks, metrics, data and plots; only ``gald_viz.ui`` imports Streamlit.
"""

__version__ = "0.1.0"
