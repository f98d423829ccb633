"""Reading an image model folder back, whichever family wrote it."""

from __future__ import annotations

from pathlib import Path

from pipeline.core.errors import InputError
from pipeline.core.types import ModelKind
from pipeline.models.cards import ImageModelCard, read_card
from pipeline.models.familiarity import FamiliarityReference
from pipeline.models.image.base import TorchImageModel
from pipeline.models.image.cnn import CNN_WEIGHTS, CNNChordModel
from pipeline.models.image.transformer import TransformerChordModel


def load_image_model(folder: str | Path) -> TorchImageModel:
    """Load an image model folder written by :meth:`TorchImageModel.save` (either kind).

    The model's familiarity reference is read too (none for a card without a ``familiarity`` entry).

    Raises:
        InputError: the folder is missing, incomplete, corrupt, of the pickle era or of an unknown kind.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"No image model folder at {folder}.")
    card: ImageModelCard = read_card(folder, expect=(ModelKind.IMAGE, ModelKind.CNN))
    if card.kind == ModelKind.CNN:
        if not (folder / CNN_WEIGHTS).is_file():
            raise InputError(f"{folder} is not a whole CNN model folder (it has no {CNN_WEIGHTS}).")
        model = CNNChordModel.from_folder(folder, card)
    else:
        model = TransformerChordModel.from_folder(folder, card)
    model.familiarity = FamiliarityReference.load(folder, card.familiarity)
    return model
