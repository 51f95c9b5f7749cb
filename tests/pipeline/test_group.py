import numpy as np
import pandas as pd

from brainctrl.pipeline._group import _covariate_matrix


def test_covariates_are_dummy_coded_and_subjects_missing_one_are_left_out():
    phenotype = pd.DataFrame(
        {
            "age": [30.0, 41.0, np.nan, 25.0],
            "sex": ["F", "M", "F", None],
            "site": ["a", "b", "c", "a"],
        },
        index=["01", "02", "03", "04"],
    )
    subjects = ["02", "01", "03", "04"]
    keep = np.array([True, True, True, True])
    kept, matrix = _covariate_matrix(phenotype, subjects, ["age", "sex", "site"], keep)
    # "03" lacks age and "04" sex: both are left out
    np.testing.assert_array_equal(kept, [True, True, False, False])
    # columns: age, sex_M, site_b, site_c (first level of each text column dropped)
    expected = np.array([[41.0, 1.0, 1.0, 0.0], [30.0, 0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(matrix, expected)
    # subjects already left out (e.g. a missing score) stay out
    kept, matrix = _covariate_matrix(
        phenotype, subjects, ["sex"], np.array([False, True, True, True])
    )
    np.testing.assert_array_equal(kept, [False, True, True, False])
    np.testing.assert_array_equal(matrix, [[0.0], [0.0]])
    kept, matrix = _covariate_matrix(phenotype, ["01"], [], np.array([True]))
    assert matrix is None and kept.tolist() == [True]
