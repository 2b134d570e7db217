"""Reading the LMS envelope in assertions."""


def result(response):
    return response.json()["result"]


def errmsg(response):
    return response.json()["params"]["errmsg"]


def err(response):
    return response.json()["params"]["err"]
