"""An image record as the client reads it: a plain dict in Glance's field
names, whatever the consumer holds.

openstacksdk's ``Image`` renames fields (``hash_algo`` for
``os_hash_algo``); glanceclient's images are dicts already. Both become the
same dict, so one rule (``download.candidates``) reads them.
"""


def record_of(image):
    """``image`` (a dict, or an openstacksdk ``Image``) as a new dict in
    Glance's field names, without the fields that are None.
    """
    if isinstance(image, dict):
        fields = dict(image)
    elif callable(getattr(image, "to_dict", None)):
        fields = image.to_dict(original_names=True, computed=False)
    else:
        raise TypeError(f"an image is a dict or an openstacksdk Image, not "
                        f"{type(image).__name__}")
    return {name: value for name, value in fields.items()
            if value is not None}
