"""The emotion CNN's architecture: VGG-style blocks of 3x3 convolutions with BatchNorm, pooling and dropout.
Owns build_model, squeeze_excitation, float32_copy, single_input and DEFAULT_FILTERS.
"""

from __future__ import annotations

import keras
from keras import layers

from core.labels import FER2013, IMAGE_SIZE, LabelSet
from core.model.emotion_output import emotion_output

DEFAULT_FILTERS: tuple[int, ...] = (32, 64, 128, 256)


def build_model(
    filters: tuple[int, ...] = DEFAULT_FILTERS,
    convs_per_block: int = 2,
    dense_units: int = 256,
    block_dropout: float = 0.1,
    dense_dropout: float = 0.4,
    attention: bool = False,
    labels: LabelSet = FER2013,
) -> keras.Model:
    """A CNN from 48x48x1 faces in [0, 1] to softmax probabilities over ``labels``' emotions.

    Block ``i`` has ``convs_per_block`` conv-BN-ReLU layers of ``filters[i]`` channels, then
    2x2 max pooling and dropout ``block_dropout * i`` (none after the first block: the net
    under-fits early on FER-2013, so regularisation grows with depth). ``attention`` adds a
    squeeze-and-excitation gate at the end of each block (Hu et al. 2018): channel weights from
    the block's global average, which lets the net favour expressive regions' features cheaply.
    """
    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1), name="face")
    x = inputs
    for block, channels in enumerate(filters):
        for conv in range(convs_per_block):
            x = layers.Conv2D(channels, 3, padding="same", use_bias=False, name=f"block{block + 1}_conv{conv + 1}")(x)
            x = layers.BatchNormalization(name=f"block{block + 1}_bn{conv + 1}")(x)
            x = layers.ReLU(name=f"block{block + 1}_relu{conv + 1}")(x)
        if attention:
            x = squeeze_excitation(x, channels, name=f"block{block + 1}_se")
        x = layers.MaxPooling2D(name=f"block{block + 1}_pool")(x)
        if block > 0 and block_dropout > 0:
            x = layers.Dropout(block_dropout * block, name=f"block{block + 1}_dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense_units, use_bias=False, name="dense")(x)
    x = layers.BatchNormalization(name="dense_bn")(x)
    x = layers.ReLU(name="dense_relu")(x)
    x = layers.Dropout(dense_dropout, name="dense_dropout")(x)
    outputs = emotion_output(labels)(x)
    return keras.Model(inputs, outputs, name="emotion_cnn")


def squeeze_excitation(x, channels: int, name: str, reduction: int = 8):
    """Scale each channel by a sigmoid gate computed from the channels' global averages."""
    gate = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_squeeze")(x)
    gate = layers.Dense(max(channels // reduction, 4), activation="relu", name=f"{name}_reduce")(gate)
    gate = layers.Dense(channels, activation="sigmoid", name=f"{name}_expand")(gate)
    return layers.Multiply(name=f"{name}_scale")([x, gate])


def float32_copy(model: keras.Model) -> keras.Model:
    """A new model of the same architecture with float32 layers and the same weights, no optimizer state.

    Training runs in mixed bfloat16 and its checkpoints keep those layers, which LiteRT cannot
    convert; the exported model and every model loaded for prediction are float32.
    """
    return policy_copy(model, "float32")


def policy_copy(model: keras.Model, policy: str) -> keras.Model:
    """A copy of a single network whose layers compute under dtype ``policy``, its input and output in float32."""
    config = model.get_config()
    output_layer = model.layers[-1].name
    for layer in config["layers"]:
        kept = layer["name"] == output_layer or layer["class_name"] == "InputLayer"
        layer["config"]["dtype"] = "float32" if kept else policy
    copy = keras.Model.from_config(config)
    copy.set_weights(model.get_weights())
    return copy


def single_input(model: keras.Model) -> keras.Model:
    """``model`` taking its one input as a tensor, not as a list of one (the same layers and weights).

    A network once rebuilt from a list of inputs keeps that structure, and Keras then warns on every call with
    a tensor ("The structure of `inputs` doesn't match the expected structure")."""
    if not isinstance(model.input, list):
        return model
    return keras.Model(model.inputs[0], model.output, name=model.name)
