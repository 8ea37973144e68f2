// Package frontconfig is the storefront's configuration document
// (apiVersion shop.goshop.dev/v1alpha1, kind StorefrontConfig): fields,
// defaults, environment names (STOREFRONT_*) and validation. The api and
// Directus URLs are handed to the browser at run time (/config.json), so one
// build of the SPA runs in every environment.
package frontconfig

import (
	"net/url"
	"strings"

	"github.com/goshop-platform/shop/services/platform/config"
	"github.com/goshop-platform/shop/services/platform/httpserver"
	"github.com/goshop-platform/shop/services/platform/telemetry"
)

// Spec is the storefront's configuration.
type Spec struct {
	HTTP      httpserver.Config `json:"http"`
	Telemetry telemetry.Config  `json:"telemetry"`
	// APIURL is the api's base URL as browsers reach it (no trailing slash).
	// The api must list the storefront's origin in its CORS allowed origins.
	APIURL string `json:"apiURL" jsonschema:"pattern=^https?://"`
	// DirectusURL is the public Directus base URL the catalogue is read from.
	DirectusURL string `json:"directusURL" jsonschema:"pattern=^https?://"`
	// ImageSources are extra Content-Security-Policy img-src sources for
	// product images (image_url), besides the storefront and Directus
	// themselves: "https:" (any HTTPS host, the default) or a CDN origin.
	ImageSources []string `json:"imageSources"`
}

// Loader reads the storefront's document.
var Loader = config.Loader[Spec]{
	APIVersion: "shop.goshop.dev/v1alpha1",
	Kind:       "StorefrontConfig",
	EnvPrefix:  "STOREFRONT",
	Defaults:   Defaults(),
}

// Defaults are used when neither file nor environment sets a field.
func Defaults() Spec {
	return Spec{
		HTTP:         httpserver.DefaultConfig(":8088"),
		Telemetry:    telemetry.DefaultConfig(),
		APIURL:       "http://127.0.0.1:8080",
		DirectusURL:  "http://127.0.0.1:8055",
		ImageSources: []string{"https:"},
	}
}

// Validate checks every field and names each bad one.
func (s *Spec) Validate() config.FieldErrors {
	var errs config.FieldErrors
	s.HTTP.Validate("spec.http", errs.Add)
	s.Telemetry.Validate("spec.telemetry", errs.Add)
	errs.Check(isBaseURL(s.APIURL), "spec.apiURL", "must be an http(s) base URL without a trailing slash, such as http://127.0.0.1:8080")
	errs.Check(isBaseURL(s.DirectusURL), "spec.directusURL", "must be an http(s) base URL without a trailing slash, such as http://127.0.0.1:8055")
	for _, src := range s.ImageSources {
		errs.Check(isImageSource(src), "spec.imageSources", `each entry must be a scheme source ("https:") or an http(s) origin such as https://cdn.example.com; got `+src)
	}
	return errs
}

func isBaseURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil &&
		u.RawQuery == "" && u.Fragment == "" && !strings.HasSuffix(raw, "/")
}

// isImageSource admits only what cannot widen the policy by accident: no
// wildcards, quotes, spaces or semicolons.
func isImageSource(src string) bool {
	if src == "https:" || src == "http:" {
		return true
	}
	u, err := url.Parse(src)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && (u.Path == "" || u.Path == "/") &&
		!strings.ContainsAny(src, "*'; ,") && u.RawQuery == ""
}

// Origin is the scheme://host[:port] of a base URL (for CSP sources).
func Origin(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
