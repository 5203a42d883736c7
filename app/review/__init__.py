"""The Review page: gates, segments, fairness, explanations and sign-off."""
