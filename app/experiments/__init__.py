"""The Experiments page: runs, their details and side-by-side comparison."""
