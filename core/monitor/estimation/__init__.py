"""Monitoring before labels: estimated performance (CBPE, DLE), drift across features jointly
(domain classifier, PCA reconstruction) and data-quality tests, all learned from the reference."""
