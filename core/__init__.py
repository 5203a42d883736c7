"""MLOps Studio library: everything that computes, stores or serves; never imports streamlit."""
