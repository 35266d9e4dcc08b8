"""Stage 2 of TuneAhead: predict the fine-tuned score from the features and
explain the prediction.

``meta fit`` trains a :class:`~.predictor.Predictor` on a meta-dataset CSV,
``meta eval`` reproduces the paper's Table 1 protocol (:mod:`.evaluate`,
rendered by :mod:`.evalreport`), and the lint pipeline calls
:func:`.stage.predict_stage` to turn a dataset's features into a
:class:`~tuneahead_lint.types.Prediction` with a conformal interval and SHAP
attributions (:mod:`.explain`).

Only the standard library is imported here: numpy, lightgbm and shap load
when a stage runs.
"""
