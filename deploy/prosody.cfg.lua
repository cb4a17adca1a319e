-- registrar for Prosody: add to /etc/prosody/prosody.cfg.lua (or drop in
-- /etc/prosody/conf.d/registrar.cfg.lua) and reload Prosody.
--
-- The component port listens on loopback only: registrar runs on the same
-- machine, and XEP-0114 is neither encrypted nor meant for the Internet.
-- Use the same JID, port and secret in registrar.conf's component section.

component_ports = { 5347 }
component_interfaces = { "127.0.0.1" }

Component "contests.example"
    component_secret = "change-me-to-a-long-random-secret"
