"""ecgcore: the base layer that ``ecgpaper`` and ``ecg_image_kit`` both build on.

Imports nothing from either of them (``tests/test_layers.py`` checks), so the image
generator and the digitizer can use each other's outputs without an import cycle.

Modules:

- :mod:`ecgcore.constants` -- lead order, Challenge classes, paper scale.
- :mod:`ecgcore.wfdbio` -- tolerant WFDB header parsing, record reading and writing.
"""
