"""Retraining: policies that watch a deployment, and the retrain that makes a challenger."""
