// The demo app `tailrace up` supervises: a line a second, every fifth on stderr, now and then a multi-line trace.
let n = 0;
const routes = ["/", "/orders", "/orders/42", "/login", "/health"];
setInterval(() => {
  n++;
  const route = routes[n % routes.length];
  if (n % 5 === 0) {
    process.stderr.write(`demo: slow request #${n} on ${route} took ${(200 + (n % 7) * 50).toFixed(0)}ms\n`);
  } else {
    process.stdout.write(`demo: GET ${route} 200 #${n} ${(1 + (n % 9) * 0.7).toFixed(1)}ms\n`);
  }
  if (n % 30 === 0) process.stderr.write(`Error: demo failure #${n}\n    at handler (demo.js:1:1)\n    at server (demo.js:2:2)\n`);
}, 1000);
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
