"""The Explore page: importing a dataset, its overview, columns and relations."""
