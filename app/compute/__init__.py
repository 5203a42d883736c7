"""The Compute page: where heavy work runs, the Dask cluster's workers and the jobs sent there."""
