"""DropSpace web process: pages, JSON API, chunk uploads and Socket.IO."""
