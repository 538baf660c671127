// Runtime entry: the whole repository compiles as one TypeScript program into dist/.
module.exports = require('../../dist/libs/masking/src/index.js');
