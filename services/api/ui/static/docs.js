// Databasement API documentation: Swagger UI on the api's own OpenAPI document. A file of
// its own, not an inline script, so the page passes the Content-Security-Policy.
(function () {
  "use strict";
  window.addEventListener("DOMContentLoaded", function () {
    window.SwaggerUIBundle({
      url: "/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      // No badge from validator.swagger.io: the page talks to no other host.
      validatorUrl: null,
    });
  });
})();
