"""Measuring generators: a real-image classifier as judge, Frechet distances, diversity, FID/IS.

``metrics`` holds the pure figures; ``classifier`` trains and caches a judge
and ``judges`` holds the judges' designs; ``measure`` computes every
judge-based figure for one generator, ``panel`` the verdict across judges
and ``report`` its text; ``generator_report`` evaluates a saved generator
(evaluate.py); ``cues`` measures what a judge reads; ``inception`` and its
siblings give FID and IS in the published network's features; ``callback``
adds the figures to log.csv during training (``--eval-every``).
"""
