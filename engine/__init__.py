"""LayerLab's engine: Keras models, data, training and files. Never imports Qt.

Modules that need Keras import it at module level; the GUI therefore imports them
only from its background loader, so the window appears before TensorFlow is loaded.
``engine.errors``, ``engine.events`` and ``engine.project`` stay free of Keras.
"""
