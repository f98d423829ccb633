"""Image chord models: transformers backbones (linear probe or fine-tune) and a compact CNN from scratch.

``inputs`` (decoding, normalising, augmenting frames), ``base`` (what both families share),
``cnn`` and ``transformer`` (the two families), ``cache`` (the linear probe's embedding cache),
``training`` (:func:`~pipeline.models.image.training.train_image_model`) and ``loading``
(:func:`~pipeline.models.image.loading.load_image_model`). Their card is
:class:`pipeline.models.cards.ImageModelCard`.
"""
