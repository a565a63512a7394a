"""TEST SERVER package: the WebHDFS/HttpFS/Knox stand-in used by distcp's tests
(see webhdfs_server.py). Not a file system for real data."""
