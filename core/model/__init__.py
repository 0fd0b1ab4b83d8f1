"""The model, the middle floor: architecture, training, the classifier (the one predict path) and LiteRT.
Owns everything that builds, fits, loads or runs the CNN; imports only vision, data and labels below it.
"""
