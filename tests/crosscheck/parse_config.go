package crosscheck

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseConfig parses the key=value pairs of a config: line into c.
func parseConfig(c *Config, s string) error {
	for _, kv := range strings.Fields(s) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("config %q: want key=value", kv)
		}
		var err error
		switch k {
		case "msl":
			c.MSL, err = time.ParseDuration(v)
		case "rto-min":
			c.MinRTO, err = time.ParseDuration(v)
		case "rto-max":
			c.MaxRTO, err = time.ParseDuration(v)
		case "fin-wait-2":
			c.FinWait2Timeout, err = time.ParseDuration(v)
		case "delayed-ack":
			if v == "off" {
				c.DelayedACK = 0
			} else {
				c.DelayedACK, err = time.ParseDuration(v)
			}
		case "syn-retries":
			c.SynRetries, err = strconv.Atoi(v)
		case "synack-retries":
			c.SynAckRetries, err = strconv.Atoi(v)
		case "data-retries":
			c.DataRetries, err = strconv.Atoi(v)
		case "recv-buffer":
			c.RecvBuffer, err = strconv.Atoi(v)
		case "user-timeout":
			c.UserTimeout, err = time.ParseDuration(v)
		case "keepalive-idle":
			c.KeepAliveIdle, err = time.ParseDuration(v)
		case "keepalive-interval":
			c.KeepAliveInterval, err = time.ParseDuration(v)
		case "keepalive-count":
			c.KeepAliveCount, err = strconv.Atoi(v)
		case "rfc1337":
			c.RFC1337, err = parseOnOff(v)
		case "sack":
			c.SACK, err = parseOnOff(v)
		case "timestamps":
			c.Timestamps, err = parseOnOff(v)
		case "rack":
			c.RACK, err = parseOnOff(v)
		case "invalid-ratelimit":
			if v == "off" {
				c.InvalidRateLimit = 0
			} else {
				c.InvalidRateLimit, err = time.ParseDuration(v)
			}
		case "congestion":
			if v != "cubic" && v != "newreno" {
				err = fmt.Errorf("want cubic or newreno")
			}
			c.Congestion = v
		case "peer-isn", "iss":
			var n uint64
			n, err = strconv.ParseUint(v, 10, 32)
			if k == "peer-isn" {
				c.PeerISN = uint32(n)
			} else {
				c.ISS = uint32(n)
			}
		default:
			return fmt.Errorf("unknown config key %q", k)
		}
		if err != nil {
			return fmt.Errorf("config %s: %w", kv, err)
		}
	}
	return nil
}

func parseOnOff(v string) (bool, error) {
	switch v {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, fmt.Errorf("want on or off")
}
