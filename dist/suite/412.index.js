const h=412,v=[412],y={53412:((o,d,t)=>{t.a(o,async(x,n)=>{try{t.r(d);var s=t(84559),a=t(29246);await(0,a.e)(s),n()}catch(c){n(c)}},1)})};export{h as id,v as ids,y as modules};
