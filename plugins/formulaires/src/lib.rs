mod answer;
mod model;
mod results;
mod rules;
