"""The studio's page fixtures (tests/helpers/studio.py) for every app test here."""

from tests.helpers.studio import image_env, image_models, shown_images, studio_env, tiny_model  # noqa: F401 (fixtures)
