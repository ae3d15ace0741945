"""SSIM import benchmark: a generated 1,000,000-leg schedule file imported, against the seed."""
