package engineio

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

var defaultCORSMethods = "GET,HEAD,PUT,PATCH,POST,DELETE"

// allowedOrigin returns the value of Access-Control-Allow-Origin for a
// request from origin, or "" when the origin is not allowed.
func (c *CORS) allowedOrigin(origin string) (value string, vary bool) {
	if c.AllowOriginFunc != nil {
		if origin != "" && c.AllowOriginFunc(origin) {
			return origin, true
		}
		return "", true
	}
	for _, o := range c.AllowOrigins {
		if o == "*" {
			// Also with AllowCredentials, as Node's cors package: browsers
			// refuse a literal "*" on credentialed requests, so that no
			// site can read responses made with the user's cookies.
			return "*", false
		}
	}
	for _, o := range c.AllowOrigins {
		if o == origin && origin != "" {
			return origin, true
		}
	}
	return "", true
}

// allows reports whether a request from origin may use the server: it has
// no Origin (not from a browser), comes from the server's own host, or
// from an origin the configuration allows.
func (c *CORS) allows(origin, host string) bool {
	if origin == "" {
		return true
	}
	if u, err := url.Parse(origin); err == nil && u.Host != "" && strings.EqualFold(u.Host, host) {
		return true
	}
	if c == nil {
		return false
	}
	v, _ := c.allowedOrigin(origin)
	return v != ""
}

// apply sets the CORS headers of a response. It answers a preflight request
// itself and then returns true.
func (c *CORS) apply(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	origin := r.Header.Get("Origin")
	allow, vary := c.allowedOrigin(origin)
	if allow != "" {
		h.Set("Access-Control-Allow-Origin", allow)
	}
	if vary {
		h.Add("Vary", "Origin")
	}
	if c.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if r.Method != http.MethodOptions {
		if len(c.ExposeHeaders) > 0 {
			h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposeHeaders, ","))
		}
		return false
	}
	methods := defaultCORSMethods
	if len(c.AllowMethods) > 0 {
		methods = strings.Join(c.AllowMethods, ",")
	}
	h.Set("Access-Control-Allow-Methods", methods)
	if len(c.AllowHeaders) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowHeaders, ","))
	} else if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
		h.Add("Vary", "Access-Control-Request-Headers")
	}
	if c.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(c.MaxAge.Seconds())))
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
	return true
}
