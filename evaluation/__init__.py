"""Measuring generators: a real-image classifier as judge, Frechet distances, diversity, FID/IS.

``metrics`` holds the pure figures; ``classifier`` the cached judge;
``measure`` computes every classifier-based figure for one generator;
``checkpoint`` evaluates a saved generator (evaluate.py); ``callback`` adds
the figures to log.csv during training (``--eval-every``).
"""
