#!/usr/bin/env python
"""Train the models: ``python train_model.py -d DATA_FOLDER -m MODEL_FOLDER [-v]``.

Same command line as the Challenge's script (which replaces this one); calls
``team_code.train_models``.
"""

import argparse
import sys

from team_code import train_models


def get_parser():
    parser = argparse.ArgumentParser(description="Train the digitization and classification models.")
    parser.add_argument("-d", "--data_folder", type=str, required=True)
    parser.add_argument("-m", "--model_folder", type=str, required=True)
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def run(args):
    train_models(args.data_folder, args.model_folder, args.verbose)


if __name__ == "__main__":
    run(get_parser().parse_args(sys.argv[1:]))
