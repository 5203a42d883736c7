"""The Prepare page: cleaning steps, the feature spec and a before/after preview."""
