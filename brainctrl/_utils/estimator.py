"""What brainctrl's scikit-learn estimators share: the check that they are fitted.

:class:`~brainctrl.stats.SparseCCA` and
:class:`~brainctrl.connectivity.BrainStates` are scikit-learn estimators
(``get_params``, ``set_params``, ``sklearn.base.clone``). A method that needs
a fitted estimator raises :class:`NotFittedError` before ``fit``: it is
scikit-learn's ``NotFittedError`` and also brainctrl's
:class:`~brainctrl.exceptions.InvalidParameterError`, the error these methods
raised before 0.2, so code catching either keeps working.
"""

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted

from brainctrl.exceptions import InvalidParameterError

__all__ = ["NotFittedError", "check_fitted"]


class NotFittedError(InvalidParameterError, _SklearnNotFittedError):
    """A method of an estimator was called before ``fit``."""


def check_fitted(estimator, method, attributes, *, hint=""):
    """Raise :class:`NotFittedError` naming ``method`` unless ``estimator`` has ``attributes``.

    Parameters
    ----------
    estimator : sklearn.base.BaseEstimator
        The estimator whose method was called.
    method : str
        The method's name, shown in the message.
    attributes : str or sequence of str
        Fitted attributes (ending in ``_``) that ``fit`` sets.
    hint : str, optional
        Appended to the message (e.g. another way to call the method).
    """
    message = f"This %(name)s instance is not fitted yet; call 'fit' before {method!r}{hint}."
    try:
        check_is_fitted(estimator, attributes, msg=message)
    except _SklearnNotFittedError as error:
        raise NotFittedError(str(error)) from None
