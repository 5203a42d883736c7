"""One thin Streamlit script per life-cycle step, listed by app.streamlit_app."""
