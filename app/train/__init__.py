"""The Train page: the training form, live search progress and evaluation charts."""
