"""The Streamlit shell: entrypoint, shared UI components, session state, caching and the CLI."""
