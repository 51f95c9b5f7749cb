import numpy as np
import pandas as pd

from brainctrl.pipeline._group import _covariate_matrix


def test_covariates_are_dummy_coded_and_missing_rows_are_nan():
    phenotype = pd.DataFrame(
        {
            "age": [30.0, 41.0, np.nan, 25.0],
            "sex": ["F", "M", "F", None],
            "site": ["a", "b", "c", "a"],
        },
        index=["01", "02", "03", "04"],
    )
    matrix = _covariate_matrix(phenotype, ["02", "01", "03", "04"], ["age", "sex", "site"])
    # columns: age, sex_M, site_b, site_c (first level of each text column dropped)
    expected = np.array(
        [
            [41.0, 1.0, 1.0, 0.0],
            [30.0, 0.0, 0.0, 0.0],
            [np.nan, 0.0, 0.0, 1.0],
            [np.nan, np.nan, np.nan, np.nan],
        ]
    )
    np.testing.assert_array_equal(matrix, expected)
    assert _covariate_matrix(phenotype, ["01"], []) is None
