"""The eSMS.vn dialect: send requests, error codes, GET callbacks and the pull APIs, all pure."""
