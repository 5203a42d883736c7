"""Review: validation gates, error analysis, fairness, explanations, the model card and sign-off."""
