"""The bottom layer, which every other package may import and which imports none of them.

``base.errors``: the one exception for problems a user can fix. ``base.rundir``:
the layout of a run directory (no TensorFlow). ``base.networks``: reading and
writing the ``.h5`` networks in it (Keras, imported when first used).
"""
