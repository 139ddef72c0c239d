"""The run machinery: the journal, its lock and control socket, the canary and the first night."""
